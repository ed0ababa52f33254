"""The dashboard feature: `/dashboard` sign-in links and the sessions they open."""
