"""podium.compute"""
