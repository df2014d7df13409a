# Copy to config.py, fill in, and upload with main.py and boot.py (see README.md).
# config.py holds the Wi-Fi and broker passwords: keep it out of version control.

WIFI_SSID = "your-wifi"
WIFI_PASSWORD = "your-wifi-password"

# The kith hub's embedded broker (open it beyond loopback in kith.yaml, with a username and password)
# or any MQTT broker the hub uses, e.g. mosquitto.
MQTT_HOST = "192.168.1.10"
MQTT_PORT = 1883
MQTT_USER = "kith-devices"
MQTT_PASSWORD = "change-me"

# 1-31 of a-z 0-9 _ - ; the kith config entry uses the same id with `profile: diy-relay`.
DEVICE_ID = "garden-relay"
# None: kith/<DEVICE_ID>, the diy-relay profile's default base topic.
BASE_TOPIC = None
# Home Assistant discovery prefix; None to announce nothing (kith needs only the profile).
DISCOVERY_PREFIX = "homeassistant"

# Relay module input pin. Most cheap relay modules switch on when their input is pulled low.
RELAY_PIN = 26
RELAY_ACTIVE_LOW = True

# "dht22", "sht31" or None
SENSOR = "dht22"
DHT_PIN = 4
I2C_SDA = 21
I2C_SCL = 22
SHT31_ADDRESS = 0x44

# seconds between readings (a DHT22 needs at least 2)
READ_INTERVAL_S = 30
# hardware watchdog in seconds, 0 for none; once started it cannot be stopped until reset,
# so enable it only after the board works (it reboots a board whose main loop hangs).
WATCHDOG_S = 0
