"""podium.server"""
