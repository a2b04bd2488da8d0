def greet(name):
    # 返回一个问候语，包含用户的名字和当前时间
    message = f"你好，{name}！今天是美好的一天 😀🎉"
    # コメント：日本語のテキストも含まれています
    return message + " — café naïve Straße"
