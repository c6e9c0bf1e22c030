"""The stack configuration (namespace ``eci-aircall``), in one place, below the component and the providers
that both read it:

    keys.py        every key, declared once (name, description, source, example, default, secret, check)
    stack.py       the program's side: read, default and validate; one ConfigError listing every problem
    connection.py  the providers' side: the connection settings ``configure()`` receives
"""
