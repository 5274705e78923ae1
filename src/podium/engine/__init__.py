"""podium.engine"""
