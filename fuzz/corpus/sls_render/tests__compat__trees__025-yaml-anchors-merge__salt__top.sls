base:
  '*':
    - anchors
