print("filterlens")
