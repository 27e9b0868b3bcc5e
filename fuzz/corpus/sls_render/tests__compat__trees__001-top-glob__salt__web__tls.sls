/etc/nginx/tls:
  file.directory:
    - mode: 700
