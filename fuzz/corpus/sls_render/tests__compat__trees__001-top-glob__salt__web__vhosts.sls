/etc/nginx/sites-enabled/default:
  file.absent: []
