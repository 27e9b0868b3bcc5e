{%- from tpldir ~ '/map.jinja' import svc6 with context %}
svc6-pkg:
  pkg.installed:
    - name: {{ svc6.pkg }}
{%- for extra in svc6.pkg_extra %}
svc6-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
