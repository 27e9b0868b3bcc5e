nginx:
  server_name: app.example.com
  port: 8080
app:
  # Made on this host by the app SLS (no network needed); point it at your
  # own repository (https://..., git@...) to deploy real code.
  repo: /srv/app-origin/app.git
  rev: main
