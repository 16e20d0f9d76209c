from carekit.http.problems import Problem, ProblemError, problem_response

__all__ = ["Problem", "ProblemError", "problem_response"]
