-- Test driver for tests/clients/test_neovim.py: loads the user config (editors/tfguard.lua), opens
-- the file, waits (bounded, with a predicate) for tfguard's diagnostics, writes them as JSON, quits.
local out = vim.env.TFGUARD_OUT
local result = { ok = false }

local function wanted(diags)
  local have = {}
  for _, d in ipairs(diags) do
    have[tostring(d.code)] = true
  end
  for _, w in ipairs(vim.split(vim.env.TFGUARD_WAIT_FOR, ",", { trimempty = true })) do
    local found = false
    if w:sub(-1) == "*" then
      local prefix = w:sub(1, -2)
      for code, _ in pairs(have) do
        if code:sub(1, #prefix) == prefix then found = true end
      end
    else
      found = have[w] ~= nil
    end
    if not found then return false end
  end
  return true
end

local function run()
  vim.cmd("filetype on")
  dofile(vim.env.TFGUARD_CONFIG)
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.TFGUARD_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  result.filetype = vim.bo[bufnr].filetype
  result.ok = vim.wait(tonumber(vim.env.TFGUARD_WAIT_MS), function()
    return wanted(vim.diagnostic.get(bufnr))
  end, 100)
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(result.diagnostics, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      code = d.code, severity = d.severity, source = d.source, message = d.message,
    })
  end
  result.clients = {}
  for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
    table.insert(result.clients, { id = c.id, name = c.name, root_dir = c.config.root_dir })
  end
  for _, c in ipairs(result.clients) do
    vim.lsp.stop_client(c.id)
    c.stopped = vim.wait(5000, function() return vim.lsp.client_is_stopped(c.id) end, 50)
  end
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  result.ok = false
  result.error = err
end
local f = io.open(out, "w")
if f then
  f:write(vim.fn.json_encode(result))
  f:close()
end
vim.cmd("qa!")
