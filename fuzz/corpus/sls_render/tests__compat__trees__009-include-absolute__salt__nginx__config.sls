include:
  - nginx

/etc/nginx/nginx.conf:
  file.managed:
    - contents: worker_processes 1;
