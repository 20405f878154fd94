"""Who is asking: a student (everyone) or a TA (signed in). TA pages call :func:`require_ta` first.

Two ways to be a TA, whichever the deployment configures:

- **OIDC** (``st.login``): when ``.streamlit/secrets.toml`` has an ``[auth]`` section, a TA signs in
  with the university's identity provider; the TAs are the e-mail addresses in ``ta_emails``.
- **A TA secret** (``ta_token``, env ``COURSETA_TA_TOKEN``): given once as ``?ta=<token>`` (the link
  ``make run`` prints, as Jupyter does) or typed into the sign-in form; compared in constant time;
  then kept in the session and removed from the address bar.

With neither configured, nobody is a TA and the TA pages say how to configure one. The role
lives in the session only: reruns keep it, a reload or a new tab does not. Removing ``?ta=`` from
the address bar adds a browser-history entry; the one before it still holds the token (on a shared
computer, sign in through the form).

>>> token_matches("s3cret-token", "s3cret-token"), token_matches("guess", "s3cret-token"), token_matches("x", None)
(True, False, False)
"""

from __future__ import annotations

import hmac
import logging
import time

import streamlit as st

ROLE_KEY = "courseta_role"
WRONG_TOKEN_DELAY_S = 1.0  # each wrong token costs its sender this long: guessing stays slow
log = logging.getLogger("courseta.app")


def token_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an unset secret matches nothing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all  # noqa: BLE001
        return False


def _oidc_is_ta(app_settings) -> bool:
    try:
        if not st.user.is_logged_in:
            return False
        email = str(st.user.get("email") or "").strip().lower()
    except Exception:  # noqa: BLE001 - no auth configured in this runtime
        return False
    return bool(email) and email in {e.strip().lower() for e in app_settings.ta_emails}


def _expected_token(app_settings) -> str | None:
    token = app_settings.ta_token
    return token.get_secret_value() if token is not None else None


def resolve_role(app_settings) -> str:
    """'ta' or 'student' for this session; consumes a ``?ta=`` token from the URL."""
    given = st.query_params.get("ta")
    if given is not None:
        del st.query_params["ta"]  # not left in the address bar or a link copied from it (history: above)
        if token_matches(given, _expected_token(app_settings)):
            st.session_state[ROLE_KEY] = "ta"
        else:
            _wrong_token()
    if st.session_state.get(ROLE_KEY) == "ta" or _oidc_is_ta(app_settings):
        return "ta"
    return "student"


def _wrong_token() -> None:
    """A wrong TA token: logged (a TA can see guessing in the log) and slowed down."""
    log.warning("a wrong TA token was given")
    time.sleep(WRONG_TOKEN_DELAY_S)


def is_ta(app_settings) -> bool:
    return resolve_role(app_settings) == "ta"


def require_ta(app_settings) -> None:
    """Stop the page with one sentence and a sign-in form unless this session is a TA's."""
    if is_ta(app_settings):
        return
    st.info("This page is for the course's TAs. Sign in to use it.")
    if oidc_configured():
        if st.button("Sign in with the university account"):
            st.login()
    if _expected_token(app_settings):
        with st.form("ta-sign-in"):
            given = st.text_input("TA token", type="password")
            if st.form_submit_button("Sign in"):
                if token_matches(given, _expected_token(app_settings)):
                    st.session_state[ROLE_KEY] = "ta"
                    st.rerun()
                _wrong_token()
                st.error("That token is not right.")
    elif not oidc_configured():
        st.caption("No TA sign-in is configured: set COURSETA_TA_TOKEN, or an [auth] section in "
                   ".streamlit/secrets.toml with COURSETA_TA_EMAILS (see the README).")
    st.stop()


def sign_out_button() -> None:
    if st.session_state.get(ROLE_KEY) == "ta" and st.button("Sign out (TA)"):
        st.session_state.pop(ROLE_KEY, None)
        st.rerun()
