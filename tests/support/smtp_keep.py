"""An aiosmtpd handler for Keyward's tests: keeps every message it accepts as a file in the
folder KEYWARD_TEST_MAILDIR names, and refuses (550) any recipient whose address starts with
"refuse"."""

import os


class Keep:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        folder = os.environ["KEYWARD_TEST_MAILDIR"]
        name = os.path.join(folder, "%04d.eml" % len(os.listdir(folder)))
        with open(name + ".part", "wb") as out:
            out.write(envelope.content)
        os.rename(name + ".part", name)
        return "250 Message accepted for delivery"
