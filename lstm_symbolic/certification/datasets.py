"""placeholder"""
class Summary: pass
def certify_dataset(*a, **k): raise NotImplementedError
