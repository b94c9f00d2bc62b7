"""Example Lift apps: a multi-tenant chat, a legacy-to-native migration, async progress."""
