{%- from tpldir ~ '/map.jinja' import svc3 with context %}
svc3-pkg:
  pkg.installed:
    - name: {{ svc3.pkg }}
{%- for extra in svc3.pkg_extra %}
svc3-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
