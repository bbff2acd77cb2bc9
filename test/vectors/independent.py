#!/usr/bin/env python3
# Run from the repository root: python3 test/vectors/independent.py (needs the `cryptography` package).
# Independent check of the sealed frames in test/vectors (PROTOCOL.md 5.1-5.3): X25519, keyed
# BLAKE2b direction keys, XChaCha20-Poly1305 = HChaCha20 subkey + IETF ChaCha20-Poly1305.
import json, struct, hashlib
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
h=bytes.fromhex
def rotl(x,n): return ((x<<n)|(x>>(32-n)))&0xffffffff
def hchacha20(key, nonce16):
    c=[0x61707865,0x3320646e,0x79622d32,0x6b206574]
    s=c+list(struct.unpack('<8I',key))+list(struct.unpack('<4I',nonce16))
    def qr(a,b,cc,d):
        s[a]=(s[a]+s[b])&0xffffffff; s[d]=rotl(s[d]^s[a],16)
        s[cc]=(s[cc]+s[d])&0xffffffff; s[b]=rotl(s[b]^s[cc],12)
        s[a]=(s[a]+s[b])&0xffffffff; s[d]=rotl(s[d]^s[a],8)
        s[cc]=(s[cc]+s[d])&0xffffffff; s[b]=rotl(s[b]^s[cc],7)
    for _ in range(10):
        qr(0,4,8,12);qr(1,5,9,13);qr(2,6,10,14);qr(3,7,11,15)
        qr(0,5,10,15);qr(1,6,11,12);qr(2,7,8,13);qr(3,4,9,14)
    return struct.pack('<8I',*(s[0:4]+s[12:16]))
def pub(sk): return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()
def dirkey(sk, peer):
    me=pub(sk); s=X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(peer))
    return hashlib.blake2b(b'wirehub/1 dir'+me+peer, digest_size=32, key=s).digest()
def seal(sk, peer, body, epoch, counter, kind):
    hdr=bytes([0xf7,1,kind,0])+pub(sk)+struct.pack('>QQ',epoch,counter)
    nonce=struct.pack('>QQ',epoch,counter)+bytes(8)
    sub=hchacha20(dirkey(sk,peer), nonce[:16])
    return hdr+ChaCha20Poly1305(sub).encrypt(bytes(4)+nonce[16:], body, hdr)
p=json.load(open('test/vectors/ping.json'))
print('ping', seal(h(p['sender_secret']),h(p['receiver_public']),h(p['body']),int(p['epoch']),0,1).hex()==p['datagram'])
r=json.load(open('test/vectors/relay.json')); e=int(r['epoch'])
print('relay', seal(h(r['client_secret']),h(r['relay_public']),h(r['relay']['body']),e,0,2).hex()==r['relay']['datagram'])
for f in r['relayed']:
    print('relayed', f['counter'], seal(h(r['relay_secret']),h(r['client_public']),h(f['body']),e,f['counter'],2).hex()==f['datagram'])
n=json.load(open('test/vectors/nodes.json'))
print('nodes', seal(h(n['responder_secret']),h(n['requester_public']),h(n['body']),int(n['epoch']),0,1).hex()==n['datagram'])
w=json.load(open('test/vectors/workbit.json'))
for x in w['examples']:
    sk=h(x['private_hex']); pk=pub(sk); d=hashlib.blake2b(pk+x['namespace'].encode(),digest_size=32).digest()
    bits=0
    for byte in d:
        if byte==0: bits+=8; continue
        bits+=8-byte.bit_length(); break
    print('workbit', x['namespace'], pk.hex()==x['public_hex'], d.hex()==x['hash'], bits==x['workbit'])

# Bodies written out byte by byte (PROTOCOL.md 7.1, 7.2, 7.4, 8.2), without the reference code.
import ipaddress
def bs(b): return str(len(b)).encode()+b':'+b
def enc(items):
    out=b'd'
    for k in sorted(items):
        val=items[k]; out+=bs(k)+(b'i%de'%val if isinstance(val,int) else bs(val))
    return out+b'e'
def rec(x):
    host,port=x['address'].rsplit(':',1); ip=ipaddress.ip_address(host.strip('[]'))
    f=(1 if ip.version==6 else 0)|(2 if x['direct'] else 0)|(4 if 'relay' in x else 0)
    return bytes([f])+h(x['key'])+ip.packed+struct.pack('>H',int(port))+(h(x['relay']) if 'relay' in x else b'')
print('nodes records', all(rec(x).hex()==x['bytes'] for x in n['records']),
      'body', enc({b'n':b''.join(rec(x) for x in n['records']), b't':b'nodes', b'v':1, b'x':h(n['x'])}).hex()==n['body'])
print('relay body', (bytes([1])+h(r['peer_public'])+struct.pack('>I',0)+bytes([0,1])+h(r['relay']['data'])).hex()==r['relay']['body'])
d=h(r['relayed_data']); c=len(r['relayed']); size=-(-len(d)//c)
for i,f in enumerate(r['relayed']):
    print('relayed body', i, (bytes([2])+h(r['peer_public'])+struct.pack('>I',f['g'])+bytes([i,c])+d[i*size:(i+1)*size]).hex()==f['body'])
for cse in json.load(open('test/vectors/padding.json'))['cases']:
    m=cse['message']; items={b't':m['t'].encode(), b'v':1, b'x':h(m['x'])}
    if 'k' in m: items[b'k']=h(m['k'])
    best=enc(items); T=cse['pad_to']
    for k in range(T, -1, -1):
        if T<=len(best): break
        e=enc({**items, b'p':bytes(k)})
        if len(e)<=T: best=e; break
    print('padding', m['t'], T, best.hex()==cse['body'])

# Invitations (PROTOCOL.md 7.4 alias/alias-ok, 7.8): the proof m and the bodies.
al=json.load(open('test/vectors/alias.json'))
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey as _P, X25519PublicKey as _Q
_sh=_P.from_private_bytes(h(al['joiner_secret'])).exchange(_Q.from_public_bytes(h(al['inviter_public'])))
_m=hashlib.blake2b(b'wirehub/1 alias'+h(al['alias_public'])+h(al['joiner_public'])+h(al['x']), digest_size=32, key=_sh).digest()
print('alias proof', _sh.hex()==al['shared_joiner_inviter'], _m.hex()==al['proof_m'],
      'body', enc({b'k':h(al['joiner_public']), b'm':_m, b't':b'alias', b'v':1, b'x':h(al['x'])}).hex()==al['alias_body'],
      enc({b'i':2, b'k':h(al['joiner_public']), b'm':_m, b't':b'alias', b'v':1, b'x':h(al['x'])}).hex()==al['alias_body_part2'],
      'alias-ok', enc({b'c':1, b'd':h(al['alias_ok_file']), b'i':0, b't':b'alias-ok', b'v':1, b'x':h(al['x'])}).hex()==al['alias_ok_body'])
