"""Voice calling (语音叫号): clip sets, composition, zones and outputs (docs/voice.md)."""
