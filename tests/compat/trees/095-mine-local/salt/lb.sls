backends:
  test.nop:
    - web: {{ salt['mine.get']('role:web', 'greeting', tgt_type='grain') | json }}
    - db: {{ salt['mine.get']('db*', 'greeting') | json }}
    - both: {{ salt['mine.get']('*', 'greeting,missing') | json }}
    - listed: {{ salt['mine.get']('web01', ['shout']) | json }}
    - compound: {{ salt['mine.get']('G@role:web and web*', 'shout', tgt_type='compound') | json }}
    - none: {{ salt['mine.get']('*', 'missing') | json }}
