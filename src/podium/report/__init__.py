"""podium.report"""
