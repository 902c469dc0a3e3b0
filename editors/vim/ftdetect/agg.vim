" ftdetect/agg.vim - .agg files are Incident for C domain files.
autocmd BufNewFile,BufRead *.agg setfiletype agg
