#!yaml|gpg
db:
  user: app
  password: |
    -----BEGIN PGP MESSAGE-----
    
    hQGMA/YCt/n5d1K6AQwApasJq6cSXzNWYYQmi7xzP8Yax+zSLfZ7rmovpbwrcLs8
    Qv+2qsMTAcn7uW3giur/4zUmAtgN5SzU109mtnXDIVUp3ptSPQK6n5om6F3wpUkL
    5lDit3oK+eUxy3QHqtYU7164BMoC6iOz7yF7KLW45c3NgyWlt2x7LBaii285BWbe
    TQqkRtg4a1Aoc7AiVr+JgL0gKDrK8PuC3JIFzDlWYrVHYlRyNFztpgAfKql3AN3X
    DWBU5/RmDRuNfO/IyXRXBbz8XSX+lu62uvMUtLZ9K9ALfwLV4GdqQW5md+TWdTuC
    8yzF9lXcM6vjYwbaRw5ajgsVoQpG/IfBThJvBs8CF8VaOgN11lvN//7ZG082i3ci
    A09RVx9cgfYPl4lgd8NEhu0HqZSOu2nKV18iGE729496ekwLYeUVhoGmeCNeWlgQ
    AWLEo/PiFeVkd5AGGgz1a5DJR8MnGIQ+eJDTrr8zTOjW1OPUihujjRFgcMvhaABJ
    FqKp5elmurRKD4MIXWBK0kIBZXpSoY8TqgFUVl7krPu6s3qSGH2g0XZQZyElbm4T
    xQulNqw61J7N0VIE3EWdegrmFGc0ox/Glv79iizzd9/kkhg=
    =Xj4j
    -----END PGP MESSAGE-----
api:
  tokens:
    - |
      -----BEGIN PGP MESSAGE-----
      
      hQGMA/YCt/n5d1K6AQv/VPzGfIRxwKwo/uL3uXsSlXV/JC0MUNu5erpBB0GE4DGS
      iw4Cwe4qw+FXs/izLRfaAXYvGMQXPPGWP3HD0J+WAXr0PYWdsW3m0KGGWk4M/d4i
      +eN3BTix1ZipP4Q0hMYJa0weHIZoTnAR15MPdsZxHbPfWdcUxbZhtKXne0LdYBl0
      sDXknr5OgN1NbXQ9dgKNvpYuRCpVowLzy1v0YwrJ74cmUees4+ciXAmSIsCulYco
      YE3qVmLBgpQB/XFtSBaif8SouS7YZytdqJRuCCyTGP3Vj0RNibOgsmm5X2t2wrl/
      AHlMOO0t/4hBbinDXsvODYfQFoeAx7hWHRLtkcgkyEW02lSY4PCxnSsImAloJ9dZ
      dCDJjFgqQCP0e427iakloEq/mpwXMApJh4dyuyhEyteiKIs9svgJT6IZl995GkRT
      bY97X1MjtPwmBvPVd4smVwFrX5+w9FiIHzqYYxMo+D+20ouPQd+xaJc5pNxnVLwu
      EyaiHQvGxvp9C6zO2dt20koBGV/LvLYBW7hK+jxRrfsDV4FftAFR/sxMDygC39S/
      rAdylbcKrultGXZSN4zqzkuzAJNAgrYFjApTOlRwejMXYw01k3GuxP8cpw==
      =957Z
      -----END PGP MESSAGE-----
    - not encrypted
