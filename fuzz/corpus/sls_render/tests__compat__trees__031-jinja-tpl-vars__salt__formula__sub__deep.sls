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
