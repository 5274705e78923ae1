"""podium.runtime"""
