"""podium.store"""
