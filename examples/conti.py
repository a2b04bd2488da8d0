def total(items):
    result = 0
    for item in items:
        if item is None:
            conti
        result += item
    return result
