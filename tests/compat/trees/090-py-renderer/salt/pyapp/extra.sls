#!py
import os


def run():
    return {
        "extra-" + os.path.basename(__sls__.replace(".", "/")): {
            "test.nop": [{"sls": sls}, {"role_count": len(grains["roles"])}]
        }
    }
