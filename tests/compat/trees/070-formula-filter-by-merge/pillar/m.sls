# The formula's pillar map, in an order no sort gives.
m:
  zeta: 1
  alpha:
    zz: 2
    aa: 3
  mid: [c, b, a]
  pkg: from-pillar
  # Only in pillar: stays an OrderedDict in Salt, so its yaml dump keeps this order.
  newmap:
    zz: 1
    aa: 2
    mm: {y: 1, b: 2}
# Common words as pillar values: errors must stay readable around them.
words:
  a: value
  b: filter
