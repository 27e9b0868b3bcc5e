{%- from tpldir ~ '/map.jinja' import svc4 with context %}
svc4-pkg:
  pkg.installed:
    - name: {{ svc4.pkg }}
{%- for extra in svc4.pkg_extra %}
svc4-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
