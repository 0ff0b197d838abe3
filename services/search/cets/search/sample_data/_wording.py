"""Words and text templates that records are written with: sites, places, chat lines, notes."""

from __future__ import annotations

from typing import Final

_PLATFORMS: Final = ("Snapchat", "Instagram", "Discord", "Kik", "TikTok", "Roblox", "WhatsApp")
_PRIVATE_APPS: Final = ("Telegram", "Signal", "Session", "Kik", "WhatsApp", "Threema")
_ESPS: Final = (
    "Meta",
    "Google",
    "Snap Inc.",
    "Discord",
    "Microsoft",
    "Dropbox",
    "TikTok",
    "Roblox",
    "Kik",
)
_FILE_HOSTS: Final = (
    "dropvault.example",
    "filecrate.example",
    "sharebin.example",
    "quickupload.example",
    "cloudstash.example",
)
_MERCHANTS: Final = (
    ("ByteDrop Premium", "bytedrop.example"),
    ("CloudStash Storage", "cloudstash.example"),
    ("HushNet VPN", "hushnet.example"),
    ("Tunnelr VPN", "tunnelr.example"),
    ("GiftHub Digital Cards", "gifthub.example"),
    ("Pixelcoin Exchange", "pixelcoin.example"),
    ("GameGems Store", "gamegems.example"),
)
_PLACES: Final = (
    "the bus terminal",
    "the food court at the mall",
    "the public library",
    "the skate park",
    "the arcade",
    "the coffee shop by the station",
)
_DAYS: Final = ("Friday", "Saturday", "Sunday", "after school", "the weekend")
_DEVICES: Final = (
    "a laptop and two phones",
    "a desktop tower and an external drive",
    "one phone and a tablet",
    "three USB drives and a laptop",
    "two phones",
)
_ADJECTIVES: Final = (
    "Dark",
    "Silent",
    "Lone",
    "Night",
    "Chill",
    "Wild",
    "Lost",
    "Shadow",
    "Lucky",
    "Frosty",
    "Hidden",
    "Mellow",
    "Rusty",
    "Swift",
    "Quiet",
    "Cosmic",
    "Stormy",
    "Midnight",
)
_NOUNS: Final = (
    "Angel",
    "Wolf",
    "Rider",
    "Gamer",
    "Coach",
    "Fox",
    "Hawk",
    "Ghost",
    "King",
    "Raven",
    "Pilot",
    "Ranger",
    "Viper",
    "Drifter",
    "Nomad",
    "Falcon",
    "Mentor",
)
_KID_WORDS: Final = (
    "sparkle",
    "pixie",
    "soccer",
    "gamer",
    "skater",
    "unicorn",
    "kitty",
    "dancer",
    "bunny",
    "star",
    "cupcake",
    "hockey",
    "panda",
    "blossom",
    "sunny",
)

_GROOMER_LINES: Final = (
    "this app is way too public. add me on {app}, same name {handle}",
    "can we move to {app}? it deletes the chats automatically",
    "how old are you? you seem really mature for your age",
    "where do you live? i'm not far from {city}",
    "i put the folder here {url} the password is {password}",
    "grab it from {url} before the link expires",
    "text me instead, {phone}",
    "email me at {email} and i'll send you the link",
    "don't tell your parents we talk ok? they wouldn't understand",
    "we should meet up. i can pick you up at {place} on {day}",
    "delete this chat after you read it",
    "did the gift card work? i can send you another one",
    "my old account got banned, this is my new one",
)
_CHILD_LINES: Final = (
    "im {age}",
    "idk my mom checks my phone",
    "ok",
    "whats {app}?",
    "where is that",
    "i cant on {day}",
    "who is this?",
    "ok i added you",
)
_TRADER_LINES: Final = (
    "new folder is up {url}",
    "use the vpn before you open anything",
    "the old group got deleted, new invite is {url}",
    "message me on {app} from now on, this place is watched",
    "send it to {email}, not here",
)
_TIP_TEXTS: Final = (
    "CyberTipline report {tipno}: ESP {esp} reported account {handle} (registration e-mail "
    "{email}) uploaded {n} files flagged by hash match. Upload IP {ip} at {when} UTC.",
    "ESP {esp} reported user {handle} for sending {n} messages to an account whose user "
    "states they are {age}, asking to continue the conversation on {app}. Login IP {ip}; "
    "verified e-mail {email}.",
    "A parent reports that an adult using {handle} on {platform} asked their {age}-year-old "
    "for their address and phone number and proposed meeting at {place}.",
    "ESP {esp} reported a shared link {url} holding {n} files that match known hashes. The "
    "link was created by {email} from IP {ip}.",
    "Referral: the subscriber of {phone} is linked to account {handle}, suspected of trading "
    "child sexual abuse material. Last seen from IP {ip}.",
)
_NOTE_TEXTS: Final = (
    "{order} returned subscriber info for IP {ip}: {name}, {address}.",
    "{order} served on {carrier} for {phone}; subscriber is {name}.",
    "Preservation request sent to {esp} for account {handle} and associated e-mail {email}.",
    "Undercover officer engaged {handle} on {platform}; subject asked the officer's age, then "
    "asked to move the conversation to {app}.",
    "Search warrant executed at {address}. Seized {devices}; exhibits sent to digital forensics.",
    "Forensic extraction completed: {n} files matched known hashes; chat logs with {victim} "
    "recovered.",
    "Spoke with the complainant's parent. Child ({age}) confirms contact with {handle} since "
    "{month}.",
    "Card ending {last4} traced to {name}; recurring payments to {merchant}.",
    "Deconfliction request sent to partner agencies for {email} and {phone}.",
    "File-hosting link {url} preserved; takedown request sent to the host.",
)
_ARREST_TEXTS: Final = (
    "Arrested at {address} on execution of a search warrant. Seized {devices}.",
    "Arrested without incident at {place} in {city} after arranging to meet an undercover "
    "officer. Seized {devices}.",
    "Surrendered by appointment. {devices} previously seized under warrant.",
)
_SUSPECT_NOTES: Final = (
    "Suspect identified from {esp} return.",
    "Subscriber of the IP used to upload flagged files.",
    "Holder of the card used for file-hosting subscriptions.",
    "Previously convicted; conditions restrict internet use.",
    "Registered owner of accounts named in the tip.",
)
_OTHER_NOTES: Final = (
    "Parent of the complainant; reported the contact.",
    "Roommate of the suspect; interviewed as a witness.",
    "Relative of the suspect; shares the residence.",
    "Account holder of the home internet service.",
    "Teacher who first raised concerns.",
)
_TXN_NOTES: Final = (
    "Recurring monthly subscription.",
    "Prepaid gift card purchase.",
    "In-game currency sent to another account.",
    "Storage plan upgrade.",
    "Payment flagged by the acquirer for review.",
    "Annual VPN plan.",
)
_MEDIA_NOTES: Final = (
    "Hash reported by {esp}; matches the national known-hash database.",
    "Recovered from a seized device; hash match, category withheld.",
    "Attached to a CyberTipline report; not viewed by the ESP.",
)

# Spelling variants that sound alike (equal metaphone keys), for names of planted suspects.
_FIRST_VARIANTS: Final = (
    ("John", "Jon"),
    ("Steven", "Stephen"),
    ("Michael", "Micheal"),
    ("Geoffrey", "Jeffrey"),
    ("Matthew", "Mathew"),
    ("Alan", "Allan", "Allen"),
    ("Neil", "Neal"),
    ("Eric", "Erik"),
    ("Philip", "Phillip"),
    ("Carl", "Karl"),
    ("Mark", "Marc"),
    ("Ian", "Iain"),
    ("Gary", "Garry"),
    ("Shane", "Shayne"),
    ("Derek", "Derrick"),
)
_LAST_VARIANTS: Final = (
    ("Smith", "Smyth"),
    ("Reid", "Reed", "Read"),
    ("Clark", "Clarke"),
    ("MacDonald", "McDonald"),
    ("Anderson", "Andersen"),
    ("Phillips", "Philips"),
    ("Gray", "Grey"),
    ("Nielsen", "Nielson"),
    ("Petersen", "Peterson"),
    ("McKenzie", "Mackenzie"),
    ("Hansen", "Hanson"),
    ("Byrne", "Burne"),
    ("Matthews", "Mathews"),
    ("Johnston", "Johnstone"),
    ("Davis", "Davies"),
    ("Wallace", "Wallis"),
)

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
