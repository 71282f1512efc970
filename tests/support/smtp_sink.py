"""A real SMTP server for the tests, on loopback: it keeps every accepted message as a
file, answers 451 to a recipient whose local part starts with "temp" the first time it
is offered, and 550 to one starting with "perm", as real servers do on greylisting and
unknown users. With --tls starttls it refuses mail until the client switched to TLS; with
--tls implicit it speaks TLS from the first byte. With --log FILE it appends one line per
accepted message: the wall-clock time its DATA ended (seconds since the epoch), the first
recipient, its Message-ID and its In-Reply-To, tab-separated. With --auth USER:PASSWORD it
offers AUTH (PLAIN, LOGIN), even without TLS, and refuses mail from a client that did not
log in with those. With --idle-timeout SECONDS it closes a connection that sent nothing for
that long (aiosmtpd's default is five minutes). Prints "ready PORT" once it listens."""

import argparse
import logging
import os
import re
import ssl
import time
import warnings
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, folder, log=None):
        self.folder = folder
        self.log = log
        self.deferred = set()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("perm"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("temp") and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.7.1 <%s>: Recipient address rejected: Greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        arrived = time.time()
        self.count += 1
        name = "%06d-%s.eml" % (self.count, envelope.rcpt_tos[0])
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        # The arrival is logged before the file shows: a reader that saw the file finds
        # its line (the other way round, a loaded machine once showed one without it).
        if self.log:
            self.record(arrived, envelope)
        os.rename(tmp, os.path.join(self.folder, name))
        return "250 Message accepted for delivery"

    def record(self, arrived, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content)

        def field(name):
            return re.sub(r"\s+", " ", str(headers.get(name, ""))).strip()

        line = "%.6f\t%s\t%s\t%s\n" % (
            arrived,
            envelope.rcpt_tos[0],
            field("Message-ID"),
            field("In-Reply-To"),
        )
        # One write per line, so that a reader never sees half of one.
        self.log.write(line)
        self.log.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--log")
    parser.add_argument("--auth", help="USER:PASSWORD a client must log in with")
    parser.add_argument("--idle-timeout", type=float, help="close a silent connection after this")
    args = parser.parse_args()
    options = {}
    if args.idle_timeout:
        options["timeout"] = args.idle_timeout
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "starttls":
            # Mail is refused until the client has switched to TLS.
            options = {"tls_context": context, "require_starttls": True}
        else:
            options = {"ssl_context": context}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            # handled=False: aiosmtpd answers a refusal with 535 itself (with its default,
            # True, it would say nothing and the client would wait for an answer).
            return AuthResult(success=ok, handled=False)

        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
        # Plain AUTH on loopback is what the tests want: no warning about it on every start.
        warnings.filterwarnings("ignore")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
    log = open(args.log, "a", buffering=1) if args.log else None
    controller = Controller(Sink(args.dir, log), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("ready %d" % args.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
