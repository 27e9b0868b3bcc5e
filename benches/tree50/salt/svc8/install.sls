{%- from tpldir ~ '/map.jinja' import svc8 with context %}
svc8-pkg:
  pkg.installed:
    - name: {{ svc8.pkg }}
{%- for extra in svc8.pkg_extra %}
svc8-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
