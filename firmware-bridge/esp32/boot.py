# Runs first at every reset; keep it small so a mistake in main.py never locks you out of the REPL.
import gc

try:
    import esp

    esp.osdebug(None)  # no ROM debug chatter on the UART
except ImportError:
    pass

gc.collect()
