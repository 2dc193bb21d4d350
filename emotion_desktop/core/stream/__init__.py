"""Frames over time: video sources and face tracking, shared by Live and video analysis."""
