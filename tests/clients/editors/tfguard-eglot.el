;;; tfguard with Eglot (built into Emacs 29+; on Emacs 26.3-28 install the `eglot' package).
;; Needs `tfguard' on PATH (or put the full path to the venv's tfguard in the server program).
(require 'eglot)
(unless (fboundp 'terraform-mode)
  ;; Without the terraform-mode package, give *.tf files a minimal mode for Eglot to manage.
  (define-derived-mode terraform-mode prog-mode "Terraform")
  (add-to-list 'auto-mode-alist '("\\.tf\\'" . terraform-mode)))
(add-to-list 'eglot-server-programs '(terraform-mode . ("tfguard" "serve")))
(add-hook 'terraform-mode-hook #'eglot-ensure)
