-- tfguard for Neovim 0.7+ with the built-in LSP client (vim.lsp.start_client).
-- Needs `tfguard` on PATH (or put the full path to the venv's tfguard in `cmd`).
local tfguard_client_id = nil

local function tfguard_root(bufnr)
  local dir = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":p:h")
  local git = vim.fn.finddir(".git", dir .. ";")
  if git ~= "" then
    return vim.fn.fnamemodify(git, ":p:h:h")
  end
  return vim.fn.getcwd()
end

vim.api.nvim_create_autocmd("FileType", {
  -- Neovim 0.7 calls *.tf files "tf"; 0.8+ calls them "terraform".
  pattern = { "terraform", "tf" },
  callback = function(args)
    if tfguard_client_id == nil or vim.lsp.client_is_stopped(tfguard_client_id) then
      tfguard_client_id = vim.lsp.start_client({
        name = "tfguard",
        cmd = { "tfguard", "serve" },
        root_dir = tfguard_root(args.buf),
      })
    end
    if tfguard_client_id then
      vim.lsp.buf_attach_client(args.buf, tfguard_client_id)
    end
  end,
})
