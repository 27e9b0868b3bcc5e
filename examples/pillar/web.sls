nginx:
  server_name: app.example.com
  port: 8080
app:
  repo: https://git.example.com/team/app.git
  rev: v1.4.2
