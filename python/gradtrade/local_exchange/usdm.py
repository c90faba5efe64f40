"""USD-M futures account views: wallet, positions, margin, listenKey and ACCOUNT_UPDATE events,
plus the spot coin list ccxt reads (``/sapi/v1/capital/config/getall``)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any, Protocol

from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.matching import OPEN, ZERO, Account, Order, dec
from gradtrade.local_exchange.params import Params, opt_int
from gradtrade.local_exchange.reports import d8, dp
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.local_exchange.ws import UserStreams


class Trading(Protocol):
    """What the account views read of :class:`gradtrade.local_exchange.trading.Trading`
    (a protocol, so that trading.py can call these views without an import cycle)."""

    state: ExchangeState
    accounts: dict[str, Account]
    resting: dict[tuple[str, str], list[Order]]
    users: UserStreams


def coins(acct: Account) -> Any:
    return [
        {
            "coin": a,
            "name": a,
            "free": d8(v[0]),
            "locked": d8(v[1]),
            "freeze": "0",
            "withdrawing": "0",
            "ipoing": "0",
            "ipoable": "0",
            "storage": "0",
            "isLegalMoney": False,
            "trading": True,
            "depositAllEnable": True,
            "withdrawAllEnable": True,
            "networkList": [],
        }
        for a, v in sorted(acct.balances.items())
    ]


def _unrealized(t: Trading, acct: Account) -> tuple[Decimal, Decimal]:
    """(unrealized PnL, initial margin of positions) at the current mark prices."""
    pnl, margin = ZERO, ZERO
    for symbol, pos in acct.positions.items():
        m = t.state.markets["usdm"].get(symbol)
        if m is None or pos.amount == 0:
            continue
        mark = dec(m.mark_price or m.reference_price())
        pnl += (mark - pos.entry) * pos.amount
        margin += abs(pos.amount) * mark / acct.leverage.get(symbol, 20)
    return pnl, margin


def _order_margin(t: Trading, acct: Account) -> Decimal:
    total = ZERO
    for (venue, symbol), book in t.resting.items():
        if venue == "usdm":
            for o in book:
                if t.accounts.get(o.api_key) is acct and o.status in OPEN:
                    total += o.price * o.remaining / acct.leverage.get(symbol, 20)
    return total


def available(t: Trading, acct: Account) -> Decimal:
    pnl, margin = _unrealized(t, acct)
    return acct.usdm_wallet + min(pnl, ZERO) - margin - _order_margin(t, acct)


def account(t: Trading, key: str) -> Any:
    acct = t.accounts[key]
    pnl, margin = _unrealized(t, acct)
    avail = available(t, acct)
    now = t.state.now_ms()
    asset = {
        "asset": "USDT",
        "walletBalance": dp(acct.usdm_wallet),
        "unrealizedProfit": dp(pnl),
        "marginBalance": dp(acct.usdm_wallet + pnl),
        "maintMargin": dp(margin / 10),
        "initialMargin": dp(margin),
        "positionInitialMargin": dp(margin),
        "openOrderInitialMargin": dp(_order_margin(t, acct)),
        "crossWalletBalance": dp(acct.usdm_wallet),
        "crossUnPnl": dp(pnl),
        "availableBalance": dp(avail),
        "maxWithdrawAmount": dp(avail),
        "marginAvailable": True,
        "updateTime": now,
    }
    return {
        "totalWalletBalance": dp(acct.usdm_wallet),
        "totalUnrealizedProfit": dp(pnl),
        "totalMarginBalance": dp(acct.usdm_wallet + pnl),
        "availableBalance": dp(avail),
        "maxWithdrawAmount": dp(avail),
        "totalInitialMargin": dp(margin),
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "feeTier": 0,
        "updateTime": now,
        "assets": [asset],
        "positions": position_risk(t, key, {}),
    }


def balance(t: Trading, key: str) -> Any:
    body = account(t, key)["assets"][0]
    return [
        {
            "accountAlias": "gt",
            "asset": "USDT",
            "balance": body["walletBalance"],
            "crossWalletBalance": body["crossWalletBalance"],
            "crossUnPnl": body["crossUnPnl"],
            "availableBalance": body["availableBalance"],
            "maxWithdrawAmount": body["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": body["updateTime"],
        }
    ]


def position_risk(t: Trading, key: str, params: Params) -> Any:
    acct = t.accounts[key]
    wanted = params.get("symbol")
    out = []
    for symbol, pos in acct.positions.items():
        m = t.state.markets["usdm"].get(symbol)
        if m is None or (wanted and wanted.upper() != symbol):
            continue
        mark = dec(m.mark_price or m.reference_price())
        lev = acct.leverage.get(symbol, 20)
        out.append(
            {
                "symbol": symbol,
                "positionSide": "BOTH",
                "positionAmt": dp(pos.amount),
                "entryPrice": dp(pos.entry),
                "breakEvenPrice": dp(pos.entry),
                "markPrice": dp(mark),
                "unRealizedProfit": dp((mark - pos.entry) * pos.amount),
                "unrealizedProfit": dp((mark - pos.entry) * pos.amount),
                "liquidationPrice": "0",
                "leverage": str(lev),
                "isolated": False,
                "marginType": "cross",
                "isolatedMargin": "0",
                "isolatedWallet": "0",
                "notional": dp(pos.amount * mark),
                "initialMargin": dp(abs(pos.amount) * mark / lev),
                "maintMargin": dp(abs(pos.amount) * mark / lev / 10),
                "updateTime": t.state.now_ms(),
            }
        )
    return out


def set_leverage(t: Trading, key: str, params: Params) -> Any:
    symbol = params.get("symbol", "").upper()
    if symbol not in t.state.markets["usdm"]:
        raise ApiError(-1121, "Invalid symbol.")
    lev = opt_int(params, "leverage")
    if lev is None or not 1 <= lev <= 125:
        raise ApiError(-4028, "Leverage is not valid")
    t.accounts[key].leverage[symbol] = lev
    return {"leverage": lev, "maxNotionalValue": "1000000000", "symbol": symbol}


def brackets(t: Trading, params: Params) -> Any:
    wanted = params.get("symbol", "").upper()
    tier = {
        "bracket": 1,
        "initialLeverage": 125,
        "notionalCap": 50_000,
        "notionalFloor": 0,
        "maintMarginRatio": 0.004,
        "cum": 0.0,
    }
    return [
        {"symbol": s, "brackets": [tier]}
        for s in t.state.markets["usdm"]
        if not wanted or s == wanted
    ]


def listen_key(t: Trading, key: str, method: str) -> Any:
    if method == "POST":
        existing = [k for k, v in t.users.listen_keys.items() if v == key]
        token = existing[0] if existing else secrets.token_urlsafe(48)
        t.users.listen_keys[token] = key
        return {"listenKey": token}
    return {}


def account_update(t: Trading, key: str, now: int) -> dict[str, Any]:
    acct = t.accounts[key]
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now,
        "T": now,
        "a": {
            "m": "ORDER",
            "B": [{"a": "USDT", "wb": dp(acct.usdm_wallet), "cw": dp(acct.usdm_wallet), "bc": "0"}],
            "P": [
                {
                    "s": s,
                    "pa": dp(p.amount),
                    "ep": dp(p.entry),
                    "bep": dp(p.entry),
                    "cr": "0",
                    "up": "0",
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                }
                for s, p in acct.positions.items()
            ],
        },
    }
