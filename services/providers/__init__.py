"""Video providers: fal.ai and the offline local renderer, behind one small interface."""
