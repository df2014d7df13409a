# kith reference firmware: an ESP32 with one relay and a DHT22 or SHT31, speaking the `diy-relay` profile
# (devices/diy-relay.yaml), the same topics as `firmware-bridge/virtual-device.ts --kind diy-relay`:
#
#   <base>               state JSON, retained: {"relay":"ON","temperature":21.3,"humidity":45.0,"task":"..."}
#   <base>/set           commands, QoS 1: {"relay":"ON","task":"<task id>"} (a bare ON / OFF / TOGGLE also works)
#   <base>/availability  "online", retained; "offline" is the MQTT Last Will
#
# <base> is kith/<DEVICE_ID> unless config.BASE_TOPIC says otherwise. A command whose task id was already
# applied is a QoS 1 redelivery: the board says its state again but does not act twice. The relay starts OFF
# after every reset: a switched load must never come on by itself after a power cut.
#
# MicroPython 1.20 or later; umqtt.simple ships with the ESP32 firmware (otherwise: mpremote mip install umqtt.simple).

import json
import os
import time

import machine
import network
from umqtt.simple import MQTTClient

try:
    import config
except ImportError:
    raise SystemExit("config.py is missing: copy config_example.py to config.py and fill it in")

DEVICE_ID = config.DEVICE_ID
BASE = config.BASE_TOPIC or "kith/" + DEVICE_ID
T_STATE = BASE
T_SET = BASE + "/set"
T_AVAIL = BASE + "/availability"

KEEPALIVE_S = 60
MAX_COMMAND_BYTES = 512
REMEMBERED_TASKS = 32
BACKOFF_MAX_S = 60

_on_level = 0 if config.RELAY_ACTIVE_LOW else 1
relay_pin = machine.Pin(config.RELAY_PIN, machine.Pin.OUT, value=1 - _on_level)

state = {"relay": "OFF"}
recent_tasks = []
wdt = machine.WDT(timeout=config.WATCHDOG_S * 1000) if config.WATCHDOG_S else None


def log(*parts):
    print("[kith]", *parts)


def feed():
    if wdt is not None:
        wdt.feed()


def sleep_ms(ms):
    # sleep in slices so the watchdog stays fed through a long back-off
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        feed()
        time.sleep_ms(min(200, max(0, time.ticks_diff(end, time.ticks_ms()))))


def set_relay(word):
    relay_pin.value(_on_level if word == "ON" else 1 - _on_level)
    state["relay"] = word


# --- sensor -------------------------------------------------------------------------------------------------

class Dht22:
    def __init__(self, pin):
        import dht

        self.dev = dht.DHT22(machine.Pin(pin))

    def read(self):
        self.dev.measure()
        return self.dev.temperature(), self.dev.humidity()


class Sht31:
    def __init__(self, sda, scl, address):
        self.i2c = machine.I2C(0, sda=machine.Pin(sda), scl=machine.Pin(scl), freq=100000)
        self.address = address

    @staticmethod
    def _crc(data):
        crc = 0xFF
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        return crc

    def read(self):
        self.i2c.writeto(self.address, b"\x24\x00")  # single shot, high repeatability, no clock stretching
        time.sleep_ms(20)
        d = self.i2c.readfrom(self.address, 6)
        if self._crc(d[0:2]) != d[2] or self._crc(d[3:5]) != d[5]:
            raise OSError("SHT31 CRC mismatch")
        t = -45 + 175 * ((d[0] << 8) | d[1]) / 65535
        h = 100 * ((d[3] << 8) | d[4]) / 65535
        return t, h


def make_sensor():
    if config.SENSOR == "dht22":
        return Dht22(config.DHT_PIN)
    if config.SENSOR == "sht31":
        return Sht31(config.I2C_SDA, config.I2C_SCL, config.SHT31_ADDRESS)
    return None


def read_sensor(sensor):
    if sensor is None:
        return
    try:
        t, h = sensor.read()
    except OSError as e:
        # keep the last good reading rather than publish nonsense
        log("sensor read failed:", e)
        return
    state["temperature"] = round(t, 1)
    state["humidity"] = round(h, 1)


# --- network ------------------------------------------------------------------------------------------------

def wifi_connect():
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if wlan.isconnected():
        return
    log("wifi: connecting to", config.WIFI_SSID)
    wlan.connect(config.WIFI_SSID, config.WIFI_PASSWORD)
    for _ in range(150):  # 30 s
        if wlan.isconnected():
            log("wifi: up", wlan.ifconfig()[0])
            return
        sleep_ms(200)
    raise OSError("wifi: no connection")


# Everything the board publishes goes out with QoS 0 (as Zigbee2MQTT does): umqtt.simple waits for a QoS 1
# PUBACK by reading the socket, and a command arriving meanwhile would run the callback, whose own QoS 1
# publish could swallow the outer PUBACK and hang. State is retained and repeated every reading anyway.
def publish(client, topic, payload):
    client.publish(topic, payload, True, 0)


def publish_state(client):
    publish(client, T_STATE, json.dumps(state))


def on_message(client, topic, msg):
    if topic != T_SET.encode() or len(msg) > MAX_COMMAND_BYTES:
        return
    try:
        cmd = json.loads(msg)
    except ValueError:
        cmd = {"relay": msg.decode().strip()}
    if not isinstance(cmd, dict):
        return
    word = cmd.get("relay")
    word = word.upper() if isinstance(word, str) else None
    if word == "TOGGLE":
        word = "OFF" if state["relay"] == "ON" else "ON"
    if word not in ("ON", "OFF"):
        log("ignored command", msg)
        return
    task = cmd.get("task")
    if isinstance(task, str):
        if task in recent_tasks:
            # a redelivery of a command already obeyed: confirm again, act once
            log("duplicate task", task)
            publish_state(client)
            return
        recent_tasks.append(task)
        if len(recent_tasks) > REMEMBERED_TASKS:
            recent_tasks.pop(0)
        state["task"] = task
    set_relay(word)
    log("relay", word)
    publish_state(client)


def announce(client):
    prefix = config.DISCOVERY_PREFIX
    if not prefix:
        return
    dev = {"ids": ["kith_" + DEVICE_ID], "name": DEVICE_ID, "mf": "kith", "mdl": "esp32-relay", "sw": "1.0.0"}
    avty = [{"t": T_AVAIL}]
    entities = [
        ("switch", "switch", {"name": None, "stat_t": T_STATE, "cmd_t": T_SET, "cmd_tpl": '{"relay": "{{ value }}"}',
                              "val_tpl": "{{ value_json.relay }}", "pl_on": "ON", "pl_off": "OFF"}),
    ]
    if config.SENSOR:
        entities.append(("sensor", "temperature", {"name": "Temperature", "stat_t": T_STATE,
                                                   "val_tpl": "{{ value_json.temperature }}", "unit_of_meas": "°C",
                                                   "dev_cla": "temperature", "stat_cla": "measurement"}))
        entities.append(("sensor", "humidity", {"name": "Humidity", "stat_t": T_STATE,
                                                "val_tpl": "{{ value_json.humidity }}", "unit_of_meas": "%",
                                                "dev_cla": "humidity", "stat_cla": "measurement"}))
    for component, object_id, cfg in entities:
        cfg["uniq_id"] = DEVICE_ID + "_" + object_id
        cfg["avty"] = avty
        cfg["dev"] = dev
        topic = "%s/%s/%s/%s/config" % (prefix, component, DEVICE_ID, object_id)
        publish(client, topic, json.dumps(cfg))


def mqtt_connect():
    client = MQTTClient(
        "kith-" + DEVICE_ID,
        config.MQTT_HOST,
        port=config.MQTT_PORT,
        user=config.MQTT_USER or None,
        password=config.MQTT_PASSWORD or None,
        keepalive=KEEPALIVE_S,
    )
    client.set_last_will(T_AVAIL, "offline", True, 1)
    client.set_callback(lambda topic, msg: on_message(client, topic, msg))
    client.connect(True)  # clean session: never act on commands queued while the board was away
    # listen before saying online, so no command sent after "online" is missed
    client.subscribe(T_SET, 1)
    announce(client)
    publish_state(client)
    publish(client, T_AVAIL, "online")
    log("mqtt: online as", BASE)
    return client


def serve(client, sensor):
    wlan = network.WLAN(network.STA_IF)
    last_read = time.ticks_ms()
    last_ping = time.ticks_ms()
    while True:
        feed()
        if not wlan.isconnected():
            raise OSError("wifi: lost")
        client.check_msg()  # raises OSError when the broker closed the connection
        now = time.ticks_ms()
        if time.ticks_diff(now, last_read) >= config.READ_INTERVAL_S * 1000:
            last_read = now
            read_sensor(sensor)
            publish_state(client)
        if time.ticks_diff(now, last_ping) >= KEEPALIVE_S * 1000 // 2:
            last_ping = now
            client.ping()
        time.sleep_ms(20)


def main():
    sensor = make_sensor()
    read_sensor(sensor)
    backoff_s = 1
    while True:
        client = None
        try:
            wifi_connect()
            client = mqtt_connect()
            backoff_s = 1
            serve(client, sensor)
        except OSError as e:
            log("connection lost:", e)
        if client is not None:
            try:
                client.sock.close()
            except Exception:
                pass
        # exponential back-off with jitter, so a house full of boards does not reconnect in lockstep
        delay_ms = backoff_s * 1000 + os.urandom(1)[0] * 4
        log("retrying in", delay_ms, "ms")
        sleep_ms(delay_ms)
        backoff_s = min(backoff_s * 2, BACKOFF_MAX_S)


main()
