# tpldir/slspath/sls/saltenv... in an init.sls, a nested SLS and a top-level one.
# (tplroot is no Salt variable: formulas compute it from tpldir, as here.)
# (tplpath, the cached absolute path, is host specific and left out.)
{{ sls }}-vars:
  test.nop:
    - tpldir: {{ tpldir }}
    - tplroot: {{ tpldir.split('/')[0] }}
    - tplfile: {{ tplfile }}
    - slspath: {{ slspath }}
    - slsdotpath: {{ slsdotpath }}
    - slscolonpath: {{ slscolonpath }}
    - sls_path: {{ sls_path }}
    - sls: {{ sls }}
    - saltenv: {{ saltenv }}
