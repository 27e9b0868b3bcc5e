#!yaml
# Jinja syntax is not rendered under #!yaml: it is text.
show-template:
  cmd.run:
    - name: echo '{{ grains.os }} {% if x %}y{% endif %}'
    - cwd: /tmp
