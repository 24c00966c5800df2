;;; eglot_harness.el --- test driver for tests/clients/test_emacs.py  -*- lexical-binding: t -*-
;; Loads the user config (editors/tfguard-eglot.el), visits the file, waits (bounded, with a
;; predicate) for tfguard's diagnostics in Flymake, writes them as JSON and exits.
(require 'json)
(require 'cl-lib)

(defun tfguard-harness--codes ()
  (mapcar (lambda (d)
            (plist-get (alist-get 'eglot-lsp-diag (flymake-diagnostic-data d)) :code))
          (flymake-diagnostics)))

(defun tfguard-harness--wanted-p (codes)
  (cl-every (lambda (w)
              (if (string-suffix-p "*" w)
                  (cl-some (lambda (c) (and (stringp c) (string-prefix-p (substring w 0 -1) c))) codes)
                (member w codes)))
            (split-string (getenv "TFGUARD_WAIT_FOR") "," t)))

(defun tfguard-harness--line-col (pos)
  (save-excursion
    (goto-char pos)
    (cons (1- (line-number-at-pos pos t)) (- pos (line-beginning-position)))))

(defun tfguard-harness--dump ()
  (mapcar
   (lambda (d)
     (let ((beg (tfguard-harness--line-col (flymake-diagnostic-beg d)))
           (end (tfguard-harness--line-col (flymake-diagnostic-end d)))
           (spec (alist-get 'eglot-lsp-diag (flymake-diagnostic-data d))))
       `((lnum . ,(car beg)) (col . ,(cdr beg))
         (end_lnum . ,(car end)) (end_col . ,(cdr end))
         (code . ,(plist-get spec :code))
         (severity . ,(plist-get spec :severity))
         (source . ,(plist-get spec :source))
         (message . ,(plist-get spec :message))
         (flymake_type . ,(symbol-name (flymake-diagnostic-type d)))
         (flymake_text . ,(flymake-diagnostic-text d)))))
   (flymake-diagnostics)))

(defvar tfguard-harness--result (list (cons 'ok :json-false)))

(defun tfguard-harness--set (key value)
  (setf (alist-get key tfguard-harness--result) value))

(progn
  (condition-case err
      (progn
        (load (getenv "TFGUARD_CONFIG") nil t)
        (let ((buf (find-file-noselect (getenv "TFGUARD_FILE"))))
          (with-current-buffer buf
            (tfguard-harness--set 'major_mode (symbol-name major-mode))
            ;; eglot-ensure connects from `post-command-hook'; --batch runs no command loop.
            (run-hooks 'post-command-hook)
            (let ((server (eglot-current-server))
                  (deadline (+ (float-time) (/ (string-to-number (getenv "TFGUARD_WAIT_MS")) 1000.0)))
                  (done nil))
              (unless server (error "Eglot did not connect"))
              (tfguard-harness--set 'project_root (project-root (eglot--project server)))
              (while (and (not done) (< (float-time) deadline))
                ;; --batch has no idle timers for Flymake: start it ourselves, then read it.
                (flymake-start)
                (setq done (tfguard-harness--wanted-p (tfguard-harness--codes)))
                (unless done (accept-process-output nil 0.1)))
              (tfguard-harness--set 'ok (if done t :json-false))
              (tfguard-harness--set 'diagnostics (vconcat (tfguard-harness--dump)))
              (eglot-shutdown server)
              (tfguard-harness--set 'stopped (if (jsonrpc-running-p server) :json-false t))))))
    (error (tfguard-harness--set 'error (error-message-string err))))
  (with-temp-file (getenv "TFGUARD_OUT")
    (insert (json-encode tfguard-harness--result)))
  (kill-emacs 0))
