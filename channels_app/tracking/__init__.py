"""oneping's own open and click tracking, for email sent over SMTP (the account's server or
the platform's mail): providers such as Postmark track their own mail and report it to the
channel's tracking webhook; mail oneping hands to an SMTP server has nobody to do that.

Opt-in per channel (track_opens, track_clicks in the email config) and only with
ONEPING_PUBLIC_URL set: the links go into an email a worker builds, and a worker has no
request to take a host from, so without it mail goes out untracked.

- html.py: at send time, a 1x1 pixel at the end of the HTML part (/t/o/<token>) and each
  http(s) link of it pointing at /t/c/<token> (the text part is left as written);
- tokens.py: the signed tokens naming the delivery (and, for a click, the link);
- receiving.py: a hit is checked and stored as a ProviderReport (provider "oneping"), then
  the reports worker applies it like any provider's report (channels_app.reports: the first
  open moves sent/delivered to opened, a click to clicked; later ones are timeline entries);
- counts.py: Delivery.opens / clicks, counted when a report is applied;
- views.py: the two URLs, answered at once (a GIF, a 302 to the link in the message).
"""
