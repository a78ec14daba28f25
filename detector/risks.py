"""The risks Jingwang scores. The single place where the default label list is defined;
a saved model carries its own list in its config and is the authority from then on."""

RISKS: tuple[str, ...] = ("rumor", "paid_posting", "harassment")

RISK_DESCRIPTIONS: dict[str, str] = {
    "rumor": "false or fabricated information, rumors made to draw traffic (网络谣言, 造谣引流)",
    "paid_posting": "paid water army: fake posts/likes/reviews, paid deletion, extortion, lure ads (网络水军)",
    "harassment": "cyber-violence: insults, abuse, hate, defamation, doxxing (网络暴力)",
}


def check_risk(risk: str, labels: tuple[str, ...] | list[str] = RISKS) -> str:
    """Return `risk` if it is one of `labels`, else raise a ValueError naming the choices."""
    if risk not in labels:
        raise ValueError(f"unknown risk {risk!r}; choose one of: {', '.join(labels)}")
    return risk
