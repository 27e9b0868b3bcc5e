# An undefined variable is an error at render time (Salt renders Jinja with
# StrictUndefined), here in an included SLS.
{%- set app_name = 'shop' %}
/etc/app.conf:
  file.managed:
    - contents: |
        listen {{ app_port }}
        name {{ app_name }}
