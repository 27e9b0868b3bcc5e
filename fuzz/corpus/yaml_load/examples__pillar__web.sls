nginx:
  server_name: app.example.com
  port: 8080
app:
  # Any repository will do; this one is public and tiny.
  repo: https://github.com/octocat/Hello-World.git
  rev: master
