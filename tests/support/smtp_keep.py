"""An aiosmtpd handler for Keyward's tests: keeps every message it accepts as a file in the
folder KEYWARD_TEST_MAILDIR names (NNNN.eml as received, and NNNN.json with its envelope
recipients, headers and decoded text and HTML parts), and refuses (550) any recipient whose
address starts with "refuse"."""

import email
import email.policy
import json
import os


class Keep:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        folder = os.environ["KEYWARD_TEST_MAILDIR"]
        count = len([n for n in os.listdir(folder) if n.endswith(".eml")])
        name = os.path.join(folder, "%04d" % count)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for kind in ("plain", "html"):
            body = message.get_body((kind,))
            parts[kind] = body.get_content() if body is not None else None
        decoded = {
            "to": envelope.rcpt_tos,
            "from": str(message["From"]),
            "subject": str(message["Subject"]),
            "text": parts["plain"],
            "html": parts["html"],
        }
        with open(name + ".json", "w", encoding="utf-8") as out:
            json.dump(decoded, out)
        # The raw message last: a test that sees it sees the decoded one too.
        with open(name + ".eml.part", "wb") as out:
            out.write(envelope.content)
        os.rename(name + ".eml.part", name + ".eml")
        return "250 Message accepted for delivery"
