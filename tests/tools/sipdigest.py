"""SIP digest by hand (RFC 3261, RFC 8760), for tests that play a phone
from python: the answer to a 401 or 407 challenge."""
import hashlib


def param(chal, name):
    """A parameter of a challenge header, unquoted."""
    i = chal.index(name + "=") + len(name) + 1
    if chal[i] == '"':
        return chal[i + 1:chal.index('"', i + 1)]
    return chal[i:].split(",")[0].strip()


def challenge(resp, alg="MD5"):
    """The challenge header of a 401/407 response offering algorithm alg."""
    hdr = [l for l in resp.split("\r\n")
           if l.lower().startswith(("www-authenticate", "proxy-authenticate"))]
    return [h for h in hdr if "algorithm=" + alg in h][0]


def authorization(resp, method, uri, user, pw, nc, alg="MD5", cnonce="c0ffee"):
    """The Authorization (REGISTER) or Proxy-Authorization header line,
    CRLF included, answering resp's challenge with nonce-count nc (an int
    or the 8 hex digits)."""
    chal = challenge(resp, alg)
    h = hashlib.md5 if alg == "MD5" else hashlib.sha256
    H = lambda x: h(x.encode()).hexdigest()
    nc = nc if isinstance(nc, str) else "%08x" % nc
    realm, nonce = param(chal, "realm"), param(chal, "nonce")
    ha1, ha2 = H(f"{user}:{realm}:{pw}"), H(f"{method}:{uri}")
    r = H(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    name = "Authorization" if method == "REGISTER" else "Proxy-Authorization"
    return (f'{name}: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{r}", algorithm={alg}, qop=auth, nc={nc}, '
            f'cnonce="{cnonce}"\r\n')
